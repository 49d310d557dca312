// TLS for both transports (SPEC §13): the PEM files read and checked once at startup, so a bad certificate or a key
// that does not match it stops the server with a message naming the file, instead of failing each handshake.
import crypto from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import type { TlsFiles } from '../config.js';

/** The certificate chain and key, as files (uWS reads them itself) and as bytes (grpc-js takes buffers). */
export interface TlsMaterial {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads and checks the PEM files; throws an Error naming the file at fault. */
export function loadTls(files: TlsFiles): TlsMaterial {
  const cert = readPem(files.certFile, 'PERMIO_TLS_CERT');
  const key = readPem(files.keyFile, 'PERMIO_TLS_KEY');
  try {
    new crypto.X509Certificate(cert);
  } catch (err) {
    throw new Error(`PERMIO_TLS_CERT ${files.certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    crypto.createPrivateKey(key);
  } catch (err) {
    throw new Error(`PERMIO_TLS_KEY ${files.keyFile} is not a PEM private key: ${(err as Error).message}`);
  }
  try {
    tls.createSecureContext({ cert, key }); // OpenSSL checks that the key is the certificate's
  } catch (err) {
    throw new Error(`PERMIO_TLS_KEY ${files.keyFile} does not match PERMIO_TLS_CERT ${files.certFile}: ${(err as Error).message}`);
  }
  return { certFile: files.certFile, keyFile: files.keyFile, cert, key };
}

function readPem(file: string, variable: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${variable} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
