// loadConfig: the cluster-mode variables (SPEC §12) and PERMIO_CONSISTENCY_WAIT_MS.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('cluster configuration', () => {
  it('is single-node without PERMIO_NATS_URL', () => {
    expect(loadConfig({}).cluster).toBeUndefined();
    expect(loadConfig({ PERMIO_NATS_URL: ' , ' }).cluster).toBeUndefined();
  });

  it('takes comma-separated URLs and defaults the stream, replicas and node id', () => {
    expect(loadConfig({ PERMIO_NATS_URL: 'nats://a:4222, nats://b:4222,' }).cluster).toEqual({
      natsUrls: ['nats://a:4222', 'nats://b:4222'],
      stream: 'PERMIO_LOG',
      replicas: 1,
      nodeId: os.hostname(),
    });
    const env = { PERMIO_NATS_URL: 'x', PERMIO_NATS_STREAM: 'PROD_LOG', PERMIO_NATS_REPLICAS: '3', PERMIO_NODE_ID: 'node-a' };
    expect(loadConfig(env).cluster).toMatchObject({ stream: 'PROD_LOG', replicas: 3, nodeId: 'node-a' });
  });

  it.each([
    ['PERMIO_NATS_STREAM', 'a.b', 'PERMIO_NATS_STREAM must be 1–64 of A–Z, a–z, 0–9, _ and -'],
    ['PERMIO_NATS_REPLICAS', '0', 'PERMIO_NATS_REPLICAS must be a number from 1 to 5'],
    ['PERMIO_NATS_REPLICAS', '2.5', 'PERMIO_NATS_REPLICAS must be an integer from 1 to 5'],
    ['PERMIO_NODE_ID', 'node a', 'PERMIO_NODE_ID must be 1–128 printable ASCII characters without spaces'],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ PERMIO_NATS_URL: 'nats://a:4222', [name]: value })).toThrow(message);
  });

  it('waits 2000 ms for a revision by default', () => {
    expect(loadConfig({}).consistencyWaitMs).toBe(2000);
    expect(loadConfig({ PERMIO_CONSISTENCY_WAIT_MS: '0' }).consistencyWaitMs).toBe(0);
    expect(() => loadConfig({ PERMIO_CONSISTENCY_WAIT_MS: '-1' })).toThrow('PERMIO_CONSISTENCY_WAIT_MS');
  });

  it('listens on PERMIO_HOST, 0.0.0.0 by default (SPEC §13)', () => {
    expect(loadConfig({}).host).toBe('0.0.0.0');
    expect(loadConfig({ PERMIO_HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ PERMIO_HOST: '::' }).host).toBe('::');
    expect(() => loadConfig({ PERMIO_HOST: '[::]:80' })).toThrow('PERMIO_HOST');
  });

  it('takes PERMIO_TLS_CERT and PERMIO_TLS_KEY together or not at all', () => {
    expect(loadConfig({}).tls).toBeUndefined();
    expect(loadConfig({ PERMIO_TLS_CERT: '/etc/p/c.pem', PERMIO_TLS_KEY: '/etc/p/k.pem' }).tls).toEqual({ certFile: '/etc/p/c.pem', keyFile: '/etc/p/k.pem' });
    expect(() => loadConfig({ PERMIO_TLS_CERT: '/etc/p/c.pem' })).toThrow('PERMIO_TLS_CERT and PERMIO_TLS_KEY go together');
    expect(() => loadConfig({ PERMIO_TLS_KEY: '/etc/p/k.pem' })).toThrow('PERMIO_TLS_CERT and PERMIO_TLS_KEY go together');
  });
});
