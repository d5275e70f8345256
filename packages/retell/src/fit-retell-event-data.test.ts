import { callEventLimits, checkJsonLimits } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { fitRetellEventData } from './fit-retell-event-data';

const kib = 1024;
/** Core's 1 MiB of data, less the 128 KiB the tracker keeps for its snapshot. */
const budget = { maxDepth: callEventLimits.data.maxDepth, maxLength: 1024 * kib - 128 * kib };

describe('fitRetellEventData', () => {
  it('keeps data that fits as it is', () => {
    const data = { durationMs: 1000, transcript: 'Agent: Hi.', metadata: { a: 1 } };
    expect(fitRetellEventData(data)).toBe(data);
  });

  it('leaves out the transcript first and names it, keeping everything else', () => {
    const data = {
      durationMs: 1000,
      transcript: 'x'.repeat(900 * kib),
      analysis: { summary: 'A call.' },
      metadata: { leadId: 'L-1' },
    };
    const fitted = fitRetellEventData(data);
    expect(fitted).toEqual({
      durationMs: 1000,
      analysis: { summary: 'A call.' },
      metadata: { leadId: 'L-1' },
      omittedFields: ['transcript'],
    });
    expect(data.transcript).toHaveLength(900 * kib);
  });

  it('then the analysis, the metadata and strings only the body bounds, until it fits', () => {
    const big = (length: number) => 'y'.repeat(length * kib);
    const data = {
      durationMs: 1000,
      endedAt: '2024-05-02T00:10:00.000Z',
      rawOmitted: 'length',
      transcript: big(300),
      analysis: { notes: big(250) },
      metadata: { notes: big(250) },
      publicLogUrl: big(350),
      recordingUrl: big(350),
    };
    const fitted = fitRetellEventData(data);
    expect(fitted.omittedFields).toEqual(['transcript', 'analysis', 'metadata']);
    expect(fitted).toMatchObject({ durationMs: 1000, rawOmitted: 'length' });
    expect(fitted).toHaveProperty('recordingUrl');
    expect(checkJsonLimits(fitted, budget)).toBeUndefined();

    const onlyStrings = fitRetellEventData({ durationMs: 5, recordingUrl: big(2000) });
    expect(onlyStrings).toEqual({ durationMs: 5, omittedFields: ['recordingUrl'] });
  });
});
