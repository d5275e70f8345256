import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import type { CallTracker } from '@calltrack/tracker';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import { callIdParam } from './call-id-param';
import { type FetchRecording, RecordingHostNotAllowedError } from './fetch-provider-recording';

/** Options of {@link createRecordingHandler}. */
export interface RecordingHandlerOptions {
  tracker: Pick<CallTracker, 'getCall'>;
  /** The tenant of the browser asking (from its session). */
  tenantOf: (request: ExpressRequest) => string | null;
  fetchRecording: FetchRecording;
  logger?: Pick<Console, 'warn'>;
}

const audioTypes = /^audio\/[a-z0-9.+-]+$/i;

/**
 * `GET /api/calls/:callId/recording`: plays a call's recording through the app. The URL the
 * provider reported stays on the server (Twilio's needs the account's credentials), the call is
 * looked up in the browser's own tenant (another tenant's call is a 404, like an unknown one), and
 * only audio is passed on.
 */
export function createRecordingHandler(options: RecordingHandlerOptions) {
  return async (request: ExpressRequest, response: ExpressResponse): Promise<void> => {
    const error = (status: number, code: string, message: string) =>
      void response.status(status).json({ error: { code, message } });
    const tenantId = options.tenantOf(request);
    if (tenantId === null) return error(401, 'unauthorized', 'Sign in first.');
    const callId = callIdParam(request);
    if (callId === '' || callId.length > 256) {
      return error(400, 'invalid_argument', 'The call id is missing or too long.');
    }
    const call = await options.tracker.getCall(tenantId, callId);
    if (call === undefined) return error(404, 'not_found', 'No such call.');
    if (call.recordingUrl === undefined) {
      return error(404, 'not_found', 'This call has no recording (yet).');
    }
    let upstream: Response;
    try {
      upstream = await options.fetchRecording(call.recordingUrl, {
        provider: call.provider,
        ...(call.recordingDurationMs === undefined
          ? {}
          : { recordingDurationMs: call.recordingDurationMs }),
      });
    } catch (cause) {
      options.logger?.warn(`recording of ${callId}: ${(cause as Error).message}`);
      // The webhook named a host the app does not fetch from: said plainly, not as a 502.
      if (cause instanceof RecordingHostNotAllowedError) {
        return error(403, 'recording_host_not_allowed', cause.message);
      }
      return error(502, 'recording_unavailable', 'The provider did not hand over the recording.');
    }
    const type = upstream.headers.get('content-type') ?? '';
    if (!upstream.ok || !audioTypes.test(type.split(';')[0]!.trim()) || upstream.body === null) {
      await upstream.body?.cancel();
      options.logger?.warn(`recording of ${callId}: provider answered ${upstream.status} ${type}`);
      return error(502, 'recording_unavailable', 'The provider did not hand over the recording.');
    }
    response.status(200).type(type).setHeader('cache-control', 'private, max-age=300');
    const length = upstream.headers.get('content-length');
    if (length !== null) response.setHeader('content-length', length);
    // pipeline, not pipe: a provider breaking off midway ends this answer (pipe left it open and
    // the stream's error uncaught, which ended the process), and a browser leaving (a seek)
    // cancels the download.
    await pipeline(
      Readable.fromWeb(upstream.body as unknown as NodeWebReadableStream),
      response,
    ).catch((cause: unknown) => {
      if (!response.writableFinished) {
        options.logger?.warn(`recording of ${callId}: ${(cause as Error).message}`);
      }
    });
  };
}
