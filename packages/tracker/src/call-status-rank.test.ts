import { callStatuses, isTerminalStatus } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import {
  callStatusRanks,
  isActiveStatus,
  noStatusRank,
  statusRank,
  terminalStatusRank,
} from './call-status-rank';

describe('call status ranks', () => {
  it("ranks every status of core's vocabulary, terminal ones exactly at the terminal rank", () => {
    expect(Object.keys(callStatusRanks).sort()).toEqual([...callStatuses].sort());
    for (const status of callStatuses) {
      expect(statusRank(status) === terminalStatusRank, status).toBe(isTerminalStatus(status));
      expect(statusRank(status), status).toBeGreaterThan(noStatusRank);
    }
    expect(
      ['queued', 'ringing', 'in-progress'].map((status) => statusRank(status as never)),
    ).toEqual([0, 1, 2]);
    expect(statusRank(undefined)).toBe(noStatusRank);
  });

  it('counts a call as active only between its first status and its end', () => {
    expect(isActiveStatus(undefined)).toBe(false);
    expect(callStatuses.filter(isActiveStatus)).toEqual(['queued', 'ringing', 'in-progress']);
  });
});
