import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { ConnectionStatus } from '../connections/connection-status.ts';
import { type Idaas, parseSeed, type Seed, startIdaas } from '../idaas/index.ts';
import { gtrConnectionId } from '../identity/gtr/create-gtr-apps.ts';
import { type DemoGrant, type Probe, printTable, probe, signIn } from './demo-tokens.ts';

/** The app's name in GTR_APPS, hence its connection `gtr-notes`. */
export const NOTES_APP = 'notes';
export const NOTES_CONNECTION = gtrConnectionId(NOTES_APP);
/** The client id Revoker calls the app's Global Token Revocation endpoint as. */
const GTR_CLIENT = 'revoker-gtr';

/**
 * A second embedded IDaaS playing a SaaS app with its own authorization server ("Notes"): its own users
 * (the same people by email, other ids and passwords), its own client, and Revoker seeded as a client
 * allowed to call its Global Token Revocation endpoint with a private-key JWT whose key this demo makes.
 */
export interface NotesApp {
  idaas: Idaas;
  /** `GTR_APPS` for Revoker: this app, by its issuer (the endpoint from its RFC 8414 metadata). */
  gtrApps: string;
  grants: DemoGrant[];
  before: Probe[];
}

const SIGN_INS: Omit<DemoGrant, 'accessToken' | 'refreshToken' | 'accessTokenId'>[] = [
  {
    label: 'dave @ Notes (its own IDaaS)',
    user: 'dave.dawson',
    app: 'notes-web',
    expect: { access: 'dies', refresh: 'dies', by: 'HR offboarding (GTR)' },
  },
  {
    label: 'alice @ Notes (its own IDaaS)',
    user: 'alice.archer',
    app: 'notes-web',
    expect: { access: 'lives', refresh: 'lives' },
  },
];

function notesSeed(jwk: Record<string, unknown>): Seed {
  const secret = () => randomBytes(24).toString('base64url');
  return parseSeed({
    users: [
      { userId: 'dave.dawson', email: 'dave@example.com', name: 'Dave Dawson', password: secret() },
      { userId: 'alice.archer', email: 'alice@example.com', name: 'Alice Archer', password: secret() },
    ],
    applications: [
      {
        client_id: 'notes-web',
        name: 'Notes',
        client_secret: secret(),
        redirect_uris: ['http://127.0.0.1:8080/notes/callback'],
      },
      {
        client_id: GTR_CLIENT,
        name: 'Revoker (Global Token Revocation)',
        client_secret: secret(),
        grant_types: [],
        global_token_revocation: true,
        jwks: { keys: [jwk] },
      },
    ],
  });
}

/** Starts the app's IDaaS on a free port; its key pair is made here and lives only in this process. */
export async function startNotesApp(): Promise<Pick<NotesApp, 'idaas' | 'gtrApps'>> {
  const kid = `revoker-demo-${randomBytes(4).toString('hex')}`;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const idaas = await startIdaas({ port: 0, store: 'memory', seed: notesSeed(jwk) });
  const gtrApps = JSON.stringify([
    {
      name: NOTES_APP,
      issuer: idaas.issuer,
      auth: {
        method: 'private_key_jwt',
        client_id: GTR_CLIENT,
        kid,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    },
  ]);
  return { idaas, gtrApps };
}

/** Real sign-ins at the app (authorization-code flow at its own IDaaS), probed once as the baseline. */
export async function signInAtNotes(idaas: Idaas): Promise<{ grants: DemoGrant[]; before: Probe[] }> {
  const grants: DemoGrant[] = [];
  for (const spec of SIGN_INS) grants.push(await signIn(idaas, idaas.seed, spec));
  const before: Probe[] = [];
  for (const g of grants) before.push(await probe(idaas, idaas.seed, g));
  return { grants, before };
}

/**
 * The app's own tokens probed at the app's own IDaaS (UserInfo, RFC 7662 introspection by its client, a
 * refresh). True when the request was verified in the IdP, reached the app (`gtr-notes` accepted it), and
 * exactly the right tokens at the app died.
 */
export async function showBothSystems(
  notes: NotesApp,
  connections: readonly ConnectionStatus[] | undefined,
  write: (line: string) => void,
): Promise<boolean> {
  if (!connections?.length) write('   (the request names no connections: it ran in the primary IdP only)');
  const atNotes = connections?.find((c) => c.connection === NOTES_CONNECTION);
  // The first connection is the IdP (the embedded IDaaS): its own verification, as every other play.
  const primaryOk =
    connections?.[0]?.connection !== NOTES_CONNECTION && connections?.[0]?.status === 'verified';
  write(`   Probed at Notes' own IDaaS (${notes.idaas.issuer}): UserInfo, introspection (RFC 7662), refresh`);
  const after: Probe[] = [];
  for (const g of notes.grants) after.push(await probe(notes.idaas, notes.idaas.seed, g));
  const wrong = printTable(notes.grants, notes.before, after, (l) => write(`   ${l}`));
  const dave = after[0]!;
  write(
    `   Notes' own introspection (RFC 7662) of dave's access token: ${dave.active ? 'active' : 'inactive'}; his refresh at Notes: ${dave.refresh}`,
  );
  // The app answered 204 (accepted, not observable to Revoker); the app's own introspection shows it.
  return atNotes?.status === 'unverifiable' && primaryOk === true && wrong.length === 0;
}
