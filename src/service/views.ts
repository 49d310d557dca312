// The API bodies of records: shaped in the store (the writer logs each write's answer with it), used as they are.
export * from '../store/views.js';
