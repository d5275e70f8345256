import { toErrorResponse } from '@calltrack/core';
import { isOutageError } from '@calltrack/core/internal';
import type { Presence, UserPresence } from '@calltrack/presence';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { authenticateDemoUser } from './authenticate-demo-user';
import { agentStates, demoAgents } from './demo-agents';

/** An agent as the console's presence panel shows it. */
interface AgentJson {
  userId: string;
  name: string;
  status: UserPresence['status'];
  state: string;
  calls: string[];
  since: string | undefined;
  version: number;
  you: boolean;
}

/** The API's error shape. */
interface ErrorBody {
  error: { code: string; message: string };
}

const problem = (response: Response, status: number, code: string, message: string) =>
  response.status(status).json({ error: { code, message } });

/**
 * The presence panel's API: `GET /api/presence/agents` (the demo roster and whoever else is
 * connected, each online / away / offline with their state and calls) and
 * `PUT /api/presence/state` `{ state }` for the signed-in user's own state.
 */
export function createPresenceRoutes(options: {
  presence: Presence;
  logger?: Pick<Console, 'warn' | 'error'>;
}): Router {
  const { presence } = options;
  const logger = options.logger ?? console;
  const router = Router();
  const names = new Map(demoAgents.map((agent) => [agent.userId, agent.name]));

  const toJson = (member: UserPresence, you: boolean): AgentJson => {
    const data = member.connections[0]?.data as { name?: unknown } | undefined;
    const name = typeof data?.name === 'string' ? data.name : undefined;
    return {
      userId: member.userId,
      name: you ? 'You' : (names.get(member.userId) ?? name ?? member.userId),
      status: member.status,
      state: member.state,
      calls: member.calls ?? [],
      since: member.since,
      version: member.version,
      you,
    };
  };

  router.get('/api/presence/agents', async (_request, response, next) => {
    try {
      const { tenantId, userId } = authenticateDemoUser();
      const members = await presence.listMembers(tenantId);
      const byId = new Map(members.map((member) => [member.userId, member]));
      // The roster's agents who are not connected are listed too, as offline.
      for (const id of [userId, ...names.keys()]) {
        if (!byId.has(id)) byId.set(id, await presence.getPresence(tenantId, id));
      }
      const agents = [...byId.values()].map((member) => toJson(member, member.userId === userId));
      response.json({ agents, states: agentStates });
    } catch (error) {
      next(error);
    }
  });

  router.put(
    '/api/presence/state',
    express.json({ limit: '1kb' }),
    async (request: Request, response: Response, next: NextFunction) => {
      const state = (request.body as { state?: unknown } | undefined)?.state;
      if (typeof state !== 'string' || !(agentStates as readonly string[]).includes(state)) {
        problem(
          response,
          400,
          'invalid_argument',
          `state must be one of ${agentStates.join(', ')}.`,
        );
        return;
      }
      try {
        const { tenantId, userId } = authenticateDemoUser();
        const updated = await presence.setState(tenantId, userId, state);
        response.json({ agent: toJson(updated, true) });
      } catch (error) {
        next(error);
      }
    },
  );

  // Malformed or oversized JSON, and anything unexpected, as the API's error shape.
  router.use(
    '/api/presence',
    async (error: unknown, _request: Request, response: Response, _next: NextFunction) => {
      const status = (error as { status?: unknown }).status;
      if (status === 400 || status === 413 || status === 415) {
        const code = status === 413 ? 'payload_too_large' : 'invalid_argument';
        problem(response, status, code, (error as Error).message);
        return;
      }
      if (isOutageError(error)) {
        // An outage, not a bug: 503 with Retry-After, as every calltrack handler answers it
        // (decision 65), logged as one line.
        const answer = toErrorResponse(error);
        const text = await answer.text();
        logger.warn(`presence route: ${(JSON.parse(text) as ErrorBody).error.message}`);
        response.status(answer.status).set(Object.fromEntries(answer.headers)).send(text);
        return;
      }
      logger.error('presence route:', error);
      problem(response, 500, 'internal', 'Presence could not be read.');
    },
  );
  return router;
}
