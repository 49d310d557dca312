// `permio/client`: the typed Permio client (SPEC §10) and the wire types generated from the protos.
export { Permio } from './permio.js';
export { PermioError } from './errors.js';
export type { ConsistencyMode } from './consistency.js';
export type { PageIterable, PageRequest } from './pages.js';
export type * from './api.js';
export type * from './wire.js';
