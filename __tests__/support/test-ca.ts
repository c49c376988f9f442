// A throwaway CA for unit tests of the certificate checks: root → intermediate → leaf, with the
// names, dates and keys a test asks for. WebCrypto through @peculiar/x509 (acme-client's own
// dependency), so no openssl binary is needed.
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

type CryptoKeyPair = webcrypto.CryptoKeyPair

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
const DAY = 86_400_000
let serial = 1

export interface Issued {
  cert: x509.X509Certificate
  keys: CryptoKeyPair
  pem: string
  keyPem: string
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n')
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair
}

interface IssueOptions {
  subject: string
  issuer?: Issued
  ca?: boolean
  names?: string[]
  notBefore?: Date
  notAfter?: Date
}

export async function issue(options: IssueOptions): Promise<Issued> {
  const keys = await newKeys()
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true)]
  if (options.names) {
    extensions.push(new x509.SubjectAlternativeNameExtension(options.names.map((value) => ({ type: 'dns' as const, value }))))
  }
  const common = {
    serialNumber: (serial++).toString(16).padStart(4, '0'),
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 90 * DAY),
    signingAlgorithm: ALG,
    extensions
  }
  const cert = options.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: options.subject,
        issuer: options.issuer.cert.subject,
        publicKey: keys.publicKey,
        signingKey: options.issuer.keys.privateKey
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: options.subject, keys })
  return { cert, keys, pem: cert.toString('pem') + '\n', keyPem: await keyPem(keys) }
}

export interface TestCa {
  root: Issued
  intermediate: Issued
  leaf(names: string[], dates?: { notBefore?: Date; notAfter?: Date }): Promise<Issued>
}

export async function testCa(name = 'Test'): Promise<TestCa> {
  const root = await issue({ subject: `CN=${name} Root`, ca: true, notAfter: new Date(Date.now() + 3650 * DAY) })
  const intermediate = await issue({ subject: `CN=${name} Intermediate`, issuer: root, ca: true })
  return {
    root,
    intermediate,
    leaf: (names, dates = {}) => issue({ subject: `CN=${names[0] ?? 'leaf'}`, issuer: intermediate, names, ...dates })
  }
}

export const days = (n: number): Date => new Date(Date.now() + n * DAY)
