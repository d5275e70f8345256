/**
 * The JSON text of `{ leads }` with `count` valid leads, exactly `bytes` long: ASCII, no
 * whitespace, so it is as long as `JSON.stringify` writes it again. The lead ids are padded with
 * quotes (two characters of JSON each, so a body of 200 leads can pass 100 KiB) and one `x` for
 * an odd length.
 */
export function leadsBodyOfLength(bytes: number, count: number): string {
  const ids = Array.from({ length: count }, (_, index) => `lead-${index}-`);
  const text = () =>
    JSON.stringify({
      leads: ids.map((leadId, index) => ({
        leadId,
        phoneNumber: `+1415555${String(index).padStart(4, '0')}`,
      })),
    });
  let missing = bytes - text().length;
  if (missing % 2 === 1) {
    ids[0] += 'x';
    missing -= 1;
  }
  for (let index = 0; missing > 0; index += 1) {
    if (index >= count * 256) throw new Error(`${count} leads cannot take ${bytes} bytes.`);
    const lead = index % count;
    if (ids[lead]!.length < 256) {
      ids[lead] += '"';
      missing -= 2;
    }
  }
  const body = text();
  if (body.length !== bytes) throw new Error(`${count} leads cannot take exactly ${bytes} bytes.`);
  return body;
}
