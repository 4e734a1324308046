/** The example catalog application, as the tests and the Lambda simulator use it. */
export { type CatalogApp, type CatalogAppOptions, type CatalogConnection, createCatalogApp } from './app.js';
export type { HttpApiEvent, HttpApiResult, HttpHandler, LambdaContext } from './handlers.js';
export { formatCents, SEED_UPDATED_AT, seedData, toCents } from './schema.js';
