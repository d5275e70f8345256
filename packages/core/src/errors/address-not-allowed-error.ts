import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_AddressNotAllowedError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** The client address is not in a webhook handler's `allowIp`. Answered with 403. */
export class AddressNotAllowedError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'address_not_allowed', status: 403, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is AddressNotAllowedError {
    return CallTrackError.hasMarker(error, marker);
  }
}
