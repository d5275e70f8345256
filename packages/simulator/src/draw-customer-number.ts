import type { Random } from './random';

/** US area codes the simulator draws customers from (in the fictional 555-01xx range). */
const usAreaCodes = ['415', '628', '510', '650', '408', '212', '312', '206', '512', '617', '305'];

/**
 * A plausible customer number for a call on `lineNumber`, in E.164, drawn from `random`:
 *
 * - for a North American line (`+1`), `+1 <area> 555 01xx`, the range reserved for fiction, so a
 *   simulated number never belongs to a real person;
 * - for an Indian line (`+91`), a 10-digit mobile number starting with 6-9;
 * - otherwise a number of the line's country and length.
 *
 * Never returns one of `avoid` (the business lines), so `findDemoLine` cannot mistake the
 * customer's end of a call for a line.
 *
 * @internal
 */
export function drawCustomerNumber(
  lineNumber: string,
  random: Random,
  avoid: readonly string[] = [],
): string {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const number = draw(lineNumber, random);
    if (!avoid.includes(number)) return number;
  }
  throw new Error(`Could not draw a customer number that is not a line (${lineNumber}).`);
}

function draw(lineNumber: string, random: Random): string {
  if (lineNumber.startsWith('+1')) {
    return `+1${random.pick(usAreaCodes)}55501${random.digits(2)}`;
  }
  if (lineNumber.startsWith('+91')) {
    return `+91${random.int(6, 9)}${random.digits(9)}`;
  }
  const digits = lineNumber.replace(/\D/g, '');
  const countryLength = digits.length > 11 ? 3 : 2;
  const country = digits.slice(0, countryLength);
  return `+${country}${random.int(2, 9)}${random.digits(Math.max(6, digits.length - countryLength - 1))}`;
}
