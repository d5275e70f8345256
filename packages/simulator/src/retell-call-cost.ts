/** Retell's price list in cents per second, as in its `call_cost.product_costs`. */
const products = [
  { product: 'elevenlabs_tts', unit_price: 0.1166667 },
  { product: 'gpt_4o_mini', unit_price: 0.00833 },
  { product: 'retell_platform', unit_price: 0.0833333 },
];

/** Retell's `call_cost` of a call that lasted `durationMs`. @internal */
export function retellCallCost(durationMs: number) {
  const seconds = Math.ceil(durationMs / 1000);
  const productCosts = products.map((item) => ({
    ...item,
    cost: round2(item.unit_price * seconds),
  }));
  const unitPrice = products.reduce((sum, item) => sum + item.unit_price, 0);
  return {
    product_costs: seconds === 0 ? [] : productCosts,
    total_duration_seconds: seconds,
    total_duration_unit_price: Math.round(unitPrice * 1e7) / 1e7,
    combined_cost: round2(productCosts.reduce((sum, item) => sum + item.cost, 0)),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
