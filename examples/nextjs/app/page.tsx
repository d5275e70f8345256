import { CampaignPage } from '../components/campaign-page';

/** `?popupMs=1500` shortens the completion popup (for tests); `?toastMs=` the toasts. */
function readMs(value: string | string[] | undefined, fallback: number): number {
  const ms = Number(Array.isArray(value) ? value[0] : value);
  return Number.isInteger(ms) && ms >= 100 && ms <= 600_000 ? ms : fallback;
}

export default async function Home({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const query = await searchParams;
  return (
    <CampaignPage popupMs={readMs(query.popupMs, 10_000)} toastMs={readMs(query.toastMs, 5_000)} />
  );
}
