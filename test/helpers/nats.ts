// Starts real nats-server processes (JetStream on, temp store dirs): one server, or a 3-server cluster; kill and restart them.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? 'nats-server';
const STARTUP_TIMEOUT_MS = 30_000;
const JETSTREAM_POLL_MS = 100;
const HOST = '127.0.0.1';

export interface NatsServer {
  readonly name: string;
  /** `nats://127.0.0.1:PORT`; the port stays the same across restarts. */
  readonly url: string;
  readonly storeDir: string;
  /** True between a start/restart and a stop/kill. */
  readonly running: boolean;
  /** The current process's id (undefined when not running). */
  readonly pid: number | undefined;
  /** Collected stdout+stderr of the current process. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports and store directory, once it is stopped or killed. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** Every server's URL, comma-separated (PERMIO_NATS_URL's format). */
  readonly urls: string;
  /** Stops every running server and removes the store directories. */
  cleanup(): Promise<void>;
}

export interface StartedNats extends NatsServer {
  /** Stops the server (if running) and removes its store directory. */
  cleanup(): Promise<void>;
}

/** Starts one JetStream-enabled nats-server on a free port with a temporary store directory. */
export async function startNats(): Promise<StartedNats> {
  const [port] = await freePorts(1);
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-nats-'));
  const server = new ServerProcess('n0', port!, storeDir, []);
  await server.restart();
  await waitForJetStream(server.url);
  return Object.assign(server, {
    cleanup: async () => {
      await server.stop();
      fs.rmSync(storeDir, { recursive: true, force: true });
    },
  });
}

/** Starts a cluster of `size` JetStream servers (routes between all of them) and waits for its meta leader. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const ports = await freePorts(size * 2);
  const clusterPorts = ports.slice(size);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-nats-cluster-'));
  const servers = Array.from({ length: size }, (_, i) => {
    const storeDir = path.join(root, `n${i}`);
    fs.mkdirSync(storeDir);
    const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats://${HOST}:${p}`).join(',');
    const args = ['--cluster_name', 'permio-test', '--cluster', `nats://${HOST}:${clusterPorts[i]}`, '--routes', routes];
    return new ServerProcess(`n${i}`, ports[i]!, storeDir, args);
  });
  await Promise.all(servers.map((s) => s.restart()));
  const urls = servers.map((s) => s.url).join(',');
  await waitForJetStream(urls);
  return {
    servers,
    urls,
    cleanup: async () => {
      await Promise.all(servers.map((s) => s.stop()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Resolves once JetStream answers an account-info request at `urls` (a cluster needs its meta leader for that). */
export async function waitForJetStream(urls: string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  const nc = await connect({ servers: urls.split(','), reconnect: false });
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000 });
        await jsm.getAccountInfo();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`JetStream at ${urls} is not ready: ${String(err)}`);
        await new Promise((r) => setTimeout(r, JETSTREAM_POLL_MS));
      }
    }
  } finally {
    await nc.close();
  }
}

/** Every message payload of `stream` (the Permio write log by default), read straight from JetStream. */
export async function streamPayloads(urls: string, stream = 'PERMIO_LOG'): Promise<Uint8Array[]> {
  const nc = await connect({ servers: urls.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    const { first_seq, last_seq } = (await jsm.streams.info(stream)).state;
    const payloads: Uint8Array[] = [];
    for (let seq = first_seq; seq <= last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m) payloads.push(m.data);
    }
    return payloads;
  } finally {
    await nc.close();
  }
}

class ServerProcess implements NatsServer {
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private out = '';

  constructor(
    readonly name: string,
    private readonly port: number,
    readonly storeDir: string,
    private readonly extraArgs: string[],
  ) {
    this.url = `nats://${HOST}:${port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  output(): string {
    return this.out;
  }

  async restart(): Promise<void> {
    if (this.child) throw new Error(`nats-server ${this.name} is already running`);
    const args = ['-js', '-sd', this.storeDir, '-n', this.name, '-a', HOST, '-p', String(this.port), ...this.extraArgs];
    const child = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.out = '';
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server ${this.name} did not start:\n${this.out}`)), STARTUP_TIMEOUT_MS);
      const onData = () => {
        if (!this.out.includes('Server is ready')) return;
        clearTimeout(timer);
        resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${NATS_SERVER} (apt-get install nats-server): ${err.message}`));
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`nats-server ${this.name} exited during startup:\n${this.out}`));
      });
    });
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    this.child?.kill(sig);
    await this.exited;
  }
}

/** Ports the OS calls free right now, all held at once so they are distinct (a restart reuses them). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, HOST, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
