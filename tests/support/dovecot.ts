// A real IMAP server on 127.0.0.1 for tests: Debian's Dovecot with a throwaway configuration in a temp folder
// (passwd-file login, Maildir beside it, no TLS on loopback), started in the foreground and stopped after.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net.ts';

export const DOVECOT = '/usr/sbin/dovecot';
export const dovecotAvailable = existsSync(DOVECOT);
if (!dovecotAvailable) console.log(`${DOVECOT} not found: IMAP tests skipped`);

export interface TestImapServer {
  readonly port: number;
  readonly user: string;
  readonly pass: string;
  /** `imap://user:pass@127.0.0.1:port/INBOX` */
  readonly url: string;
  stop(): Promise<void>;
}

async function waitForGreeting(port: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const text = await readFile(log, 'utf8').catch(() => '');
      throw new Error(`dovecot exited with ${child.exitCode}:\n${text}`);
    }
    const ready = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('dovecot did not greet within 15 s');
}

/**
 * Dovecot will not deliver mail as root (its first_valid_uid check): as root the mail is kept by Debian's
 * `mail` user and the server's own processes run as `dovecot`/`dovenull`; as anyone else, all is theirs.
 */
function accounts() {
  const me = os.userInfo();
  if (me.uid !== 0) {
    return { uid: me.uid, gid: me.gid, internal: me.username, login: me.username };
  }
  return { uid: 8, gid: 8, internal: 'dovecot', login: 'dovenull' };
}

/**
 * `mail_fsync = never`: the tests kill Kurier, never Dovecot, so the page cache keeps every message; an fsync
 * per APPEND would make the benchmark's 10,000 appends take minutes.
 */
export async function startDovecot(): Promise<TestImapServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kurier-dovecot-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const user = 'bounces';
  const pass = 'imap-test-password';
  const { uid, gid, internal, login } = accounts();
  const mail = path.join(dir, 'mail');
  await mkdir(path.join(mail, user), { recursive: true });
  await chown(mail, uid, gid);
  await chown(path.join(mail, user), uid, gid);
  await mkdir(path.join(dir, 'run'));
  await writeFile(path.join(dir, 'users'), `${user}:{PLAIN}${pass}\n`);
  const log = path.join(dir, 'dovecot.log');
  const config = path.join(dir, 'dovecot.conf');
  await writeFile(
    config,
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${log}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${internal}
default_internal_group = ${internal}
default_login_user = ${login}
first_valid_uid = ${uid}
last_valid_uid = 0
mail_location = maildir:${mail}/%u
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${mail}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
`,
  );
  const child = spawn(DOVECOT, ['-F', '-c', config], { stdio: 'ignore' });
  try {
    await waitForGreeting(port, child, log);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    user,
    pass,
    url: `imap://${user}:${pass}@127.0.0.1:${port}/INBOX`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A minimal IMAP client for the test's own side (putting messages in, seeing where they went), so that the
 * code under test is the only user of imapflow. Commands run one at a time; literals are non-synchronising
 * (LITERAL+, RFC 7888), which Dovecot offers.
 */
export class TestImapClient {
  private buffer = '';
  private tag = 0;
  private waiting: (() => void) | undefined;
  private readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (data) => {
      this.buffer += data.toString('latin1');
      this.waiting?.();
    });
  }

  static async connect(server: TestImapServer): Promise<TestImapClient> {
    const socket = createConnection({ host: '127.0.0.1', port: server.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    // Commands wait for their answer one by one: Nagle's algorithm would hold each small write back.
    socket.setNoDelay(true);
    const client = new TestImapClient(socket);
    await client.until(/^\* OK.*\r\n/m);
    await client.command(`LOGIN ${server.user} ${server.pass}`);
    return client;
  }

  private async until(pattern: RegExp): Promise<string> {
    for (;;) {
      const match = pattern.exec(this.buffer);
      if (match !== null) {
        const text = this.buffer.slice(0, match.index + match[0].length);
        this.buffer = this.buffer.slice(match.index + match[0].length);
        return text;
      }
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  /** Sends one command and returns everything up to its tagged OK; NO or BAD throw. */
  async command(text: string, literals: readonly Buffer[] = []): Promise<string> {
    const tag = `T${++this.tag}`;
    const parts: Buffer[] = [Buffer.from(`${tag} ${text}`)];
    for (const literal of literals) parts.push(Buffer.from(` {${literal.length}+}\r\n`), literal);
    parts.push(Buffer.from('\r\n'));
    this.socket.write(Buffer.concat(parts));
    const response = await this.until(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, 'm'));
    if (!new RegExp(`^${tag} OK`, 'm').test(response))
      throw new Error(`IMAP ${text.split(' ')[0]}: ${response}`);
    return response;
  }

  /** Several messages in one command (MULTIAPPEND, RFC 3502): one round trip and one index update for all. */
  async append(folder: string, ...raws: Buffer[]): Promise<void> {
    await this.command(`APPEND "${folder}"`, raws);
  }

  /** The folder's name on this server, whose hierarchy delimiter may be `.` or `/`. */
  async folderName(segments: readonly string[]): Promise<string> {
    const list = await this.command('LIST "" ""');
    const delimiter = /^\* LIST \([^)]*\) "([^"]*)"/m.exec(list)?.[1] ?? '/';
    return segments.join(delimiter);
  }

  /** The value of `header` of each message in `folder` (an empty string where it is missing). */
  async headerValues(folder: string, header: string): Promise<string[]> {
    const select = await this.command(`EXAMINE "${folder}"`);
    if (/^\* 0 EXISTS/m.test(select)) return [];
    const fetched = await this.command(`FETCH 1:* (BODY.PEEK[HEADER.FIELDS (${header})])`);
    const values: string[] = [];
    const pattern = /^\* \d+ FETCH [^{]*\{(\d+)\}\r\n/gm;
    for (let match = pattern.exec(fetched); match !== null; match = pattern.exec(fetched)) {
      const start = match.index + match[0].length;
      const block = fetched.slice(start, start + Number(match[1]));
      values.push(new RegExp(`^${header}:\\s*(.*)$`, 'im').exec(block)?.[1]?.trim() ?? '');
    }
    return values;
  }

  async close(): Promise<void> {
    await this.command('LOGOUT').catch(() => '');
    this.socket.destroy();
  }
}
