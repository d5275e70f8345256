import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_UnknownTenantError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** An event could not be mapped to a tenant (for example an unknown called number). Answered with 422. */
export class UnknownTenantError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'unknown_tenant', status: 422, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is UnknownTenantError {
    return CallTrackError.hasMarker(error, marker);
  }
}
