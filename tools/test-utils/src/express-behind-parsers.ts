import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';

/**
 * An Express 5 app as a user's app mounts calltrack behind body parsers: `parsers` first, then
 * what `mount` adds, and an error that reaches Express (a parser's refusal, the Node bridge's)
 * answered `{ error: { message, type } }` with its status (else 500), so a test reads both.
 */
export function expressBehindParsers(
  parsers: readonly RequestHandler[],
  mount: (app: Express) => void,
): Express {
  const app = express();
  if (parsers.length > 0) app.use(...parsers);
  mount(app);
  app.use(
    (
      error: Error & { status?: number; type?: string },
      _request: Request,
      response: Response,
      _next: NextFunction,
    ) => {
      response
        .status(error.status ?? 500)
        .json({ error: { message: error.message, type: error.type } });
    },
  );
  return app;
}
