// TLS and bind address (SPEC §13): PERMIO_TLS_CERT + PERMIO_TLS_KEY turn on TLS for REST, WebSocket and gRPC alike
// (a certificate made by openssl for the test, real HTTPS, WSS and gRPC-over-TLS clients that trust only it);
// PERMIO_HOST is the listen address of both ports; one TLS file without the other, or a key that is not the
// certificate's, stops the server at startup.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcClient } from '../helpers/grpc-client.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-tls-'));
const started: RunningServer[] = [];

/** A self-signed certificate for localhost and 127.0.0.1, made by openssl now. */
function makeCertificate(name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'pipe' });
  return { cert, key };
}

afterAll(async () => {
  for (const s of started) await s.stop();
  for (const s of started) s.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One HTTPS request trusting only `ca`. */
function httpsRequest(url: string, ca: Buffer, opts: { method?: string; key?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(url, {
      method: opts.method ?? 'GET',
      ca,
      servername: 'localhost', // the certificate's name (an IP address is not a TLS server name)
      headers: { ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** What a plain-text HTTP request to `port` gets back: the first bytes, or how the connection ended. */
function plainRequest(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
    socket.on('close', () => resolve(got));
    socket.setTimeout(3000, () => socket.destroy());
  });
}

describe('TLS on both ports', () => {
  let server: RunningServer;
  let ca: Buffer;
  let base: string;
  let grpcAddress: string;

  beforeAll(async () => {
    const { cert, key } = makeCertificate('server');
    ca = fs.readFileSync(cert);
    server = await startServer({ env: { PERMIO_TLS_CERT: cert, PERMIO_TLS_KEY: key, PERMIO_HOST: '127.0.0.1' } });
    started.push(server);
    base = server.httpUrl.replace('http://', 'https://');
    grpcAddress = server.grpcAddress;
  });

  it('REST answers over HTTPS to a client trusting the certificate; plain HTTP gets no HTTP answer', async () => {
    expect(await httpsRequest(`${base}/healthz`, ca)).toEqual({ status: 200, body: { status: 'SERVING' } });
    const org = await httpsRequest(`${base}/v1/organisations`, ca, { method: 'POST', key: server.adminKey, body: { name: 'tls', user_id: 'u' } });
    expect(org.status).toBe(200);
    const refused = await httpsRequest(`${base}/v1/organisations`, ca, { key: 'perms_api_wrong' });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe(401);
    expect(await plainRequest(Number(new URL(base).port))).not.toMatch(/^HTTP\/1\.1/);
    // a client that does not trust the certificate refuses it
    await expect(httpsRequest(`${base}/healthz`, Buffer.from(''))).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('Watch streams over WSS', async () => {
    const org = await httpsRequest(`${base}/v1/organisations`, ca, { method: 'POST', key: server.adminKey, body: { name: 'wss', user_id: 'u' } });
    const orgId = org.body.organisation.id;
    const ref = { organisation_id: orgId, project_name: 'default' };
    expect((await httpsRequest(`${base}/v1/permissions`, ca, { method: 'POST', key: server.adminKey, body: { ...ref, name: 'doc.read' } })).status).toBe(200);
    const ws = new WebSocket(`${base.replace('https://', 'wss://')}/v1/watch`, { ca, servername: 'localhost', headers: { authorization: `Bearer ${server.adminKey}` } });
    const messages: any[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.send(JSON.stringify(ref));
    await new Promise((r) => setTimeout(r, 200)); // subscribed
    const granted = await httpsRequest(`${base}/v1/grants`, ca, {
      method: 'POST',
      key: server.adminKey,
      body: { ...ref, user_id: 'alice', resource_uri: '/docs', permissions: ['doc.read'] },
    });
    expect(granted.status).toBe(200);
    for (let i = 0; i < 100 && !messages.some((m) => JSON.stringify(m).includes('alice')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(messages.some((m) => JSON.stringify(m).includes('alice')), JSON.stringify(messages)).toBe(true);
    ws.close();
  });

  it('gRPC answers over TLS to a client trusting the certificate; a plaintext client cannot call', async () => {
    const secure = grpcClient(grpcAddress, server.adminKey, grpc.credentials.createSsl(ca));
    const listed = await secure.call('ListOrganisations', {});
    expect(listed.code).toBe(grpc.status.OK);
    expect(Array.isArray(listed.body.organisations)).toBe(true);
    secure.close();
    const plain = grpcClient(grpcAddress, server.adminKey);
    const refused = await plain.call('ListOrganisations', {}, { deadlineMs: 3000 });
    expect(refused.code).not.toBe(grpc.status.OK);
    plain.close();
  });

  it('PERMIO_HOST=127.0.0.1: both ports listen there only', async () => {
    const other = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i?.family === 'IPv4' && !i.internal)?.address;
    if (other === undefined) return void console.warn('skipped: this machine has no non-loopback IPv4 address');
    for (const port of [Number(new URL(base).port), Number(grpcAddress.split(':')[1])]) {
      const outcome = await new Promise<string>((resolve) => {
        const s = net.connect(port, other, () => (s.destroy(), resolve('connected')));
        s.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? 'error'));
      });
      expect(outcome, `${other}:${port}`).toBe('ECONNREFUSED');
    }
  });
});

/** Runs the server with `env` until it exits (it must: a config error); its exit code and output. */
function runUntilExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      PERMIO_HTTP_PORT: '0',
      PERMIO_GRPC_PORT: '0',
      PERMIO_DATA_DIR: fs.mkdtempSync(path.join(dir, 'data-')),
      PERMIO_ADMIN_KEY: `perms_api_${crypto.randomBytes(16).toString('hex')}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

describe('TLS and host configuration errors stop the server at startup', () => {
  it.each([
    ['only PERMIO_TLS_CERT', () => ({ PERMIO_TLS_CERT: makeCertificate('lone-cert').cert }), /PERMIO_TLS_CERT and PERMIO_TLS_KEY/],
    ['only PERMIO_TLS_KEY', () => ({ PERMIO_TLS_KEY: makeCertificate('lone-key').key }), /PERMIO_TLS_CERT and PERMIO_TLS_KEY/],
    ['a key that is not the certificate’s', () => ({ PERMIO_TLS_CERT: makeCertificate('one').cert, PERMIO_TLS_KEY: makeCertificate('two').key }), /does not match/],
    ['a certificate file that is missing', () => ({ PERMIO_TLS_CERT: path.join(dir, 'absent.crt'), PERMIO_TLS_KEY: makeCertificate('three').key }), /absent\.crt cannot be read/],
    ['a certificate that is not PEM', () => {
      const bad = path.join(dir, 'bad.crt');
      fs.writeFileSync(bad, 'not a certificate');
      return { PERMIO_TLS_CERT: bad, PERMIO_TLS_KEY: makeCertificate('four').key };
    }, /bad\.crt is not a PEM certificate/],
    ['a host that is not an address', () => ({ PERMIO_HOST: 'http://0.0.0.0:80' }), /PERMIO_HOST/],
  ])('%s: exit code 1, the log says why', async (_what, env, message) => {
    const { code, output } = await runUntilExit(env());
    expect(code, output).toBe(1);
    expect(output).toMatch(message);
  }, 30_000);
});
