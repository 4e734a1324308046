import type { Request, Route } from './traffic.js';

/** An API Gateway HTTP API (payload v2)-like event: the parts the catalog handlers read. */
export interface HttpEvent {
  readonly rawPath: string;
  readonly requestContext: { readonly requestId: string; readonly http: { readonly method: string; readonly path: string } };
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** The part of the Lambda context the handlers use. */
export interface InvocationContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export interface HttpResult {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export type HttpHandler = (event: HttpEvent, context: InvocationContext) => Promise<HttpResult>;

/** Where a container's app connects: the run's own user and database. */
export interface DbTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** What one container holds: the app created at cold start, reused by every invocation it serves. */
/**
 * An app's cache reads (the cache's stats): each read is one of `hits`, `stale` and `misses`;
 * `loaderWaits` of them waited for a loader (their own, another container's, or one they shared).
 */
export interface CacheReads {
  readonly hits: number;
  readonly stale: number;
  readonly misses: number;
  readonly loaderWaits: number;
}

export interface AppInstance {
  readonly handlers: Readonly<Record<Route, HttpHandler>>;
  /** Server thread id of the connection the app holds now, if any. */
  threadId(): number | undefined;
  /** Statements sent to the database so far. */
  queries(): number;
  /** Cache reads so far: served from the cache (fresh or stale) and loaded from the database. */
  cacheReads(): CacheReads | undefined;
  /** The error code behind a failed answer, when the app logged one for this request id. */
  failureCode(requestId: string): string | undefined;
  /** Closes the app's sockets; only at the end of a run, never when the container expires. */
  dispose(): Promise<void>;
}

/** A way of writing the handlers: a name for the report, and the app each cold container creates. */
export interface AppFactory {
  readonly name: string;
  readonly description: string;
  create(target: DbTarget, container: number): AppInstance;
}

/** The event API Gateway would deliver for a request. */
export function eventFor(request: Request, requestId: string): HttpEvent {
  const event = eventParts(request);
  return { ...event, requestContext: { requestId, http: { method: event.method, path: event.rawPath } } };
}

function eventParts(request: Request): Omit<HttpEvent, 'requestContext'> & { method: string } {
  switch (request.route) {
    case 'getProduct':
      return { rawPath: `/products/${request.productId}`, method: 'GET', pathParameters: { id: String(request.productId) } };
    case 'listCategory':
      return {
        rawPath: `/categories/${request.categoryId}/products`,
        method: 'GET',
        pathParameters: { id: String(request.categoryId) },
      };
    case 'updatePrice':
      return {
        rawPath: `/products/${request.productId}/price`,
        method: 'PUT',
        pathParameters: { id: String(request.productId) },
        body: JSON.stringify({ price: request.price }),
      };
    case 'placeOrder':
      return { rawPath: '/orders', method: 'POST', body: JSON.stringify({ customer: request.customer, lines: request.lines }) };
  }
}
