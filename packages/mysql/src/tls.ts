/**
 * What a failed TLS connect means, for a person: the classification itself is the driver's (for
 * mysql2 `TLS_TABLE` in `driver/mysql2/error-table.ts`: class `tls`, fatal for the connect, never
 * retried, never answered by connecting in clear, and which problem it is); this module names the
 * problem and the option that governs it.
 */
import type { TlsProblem } from './driver/driver.js';

/**
 * Node's TLS messages (OpenSSL's wording, stable across releases) and the codes they go with.
 * mysql2 replaces the code of every handshake error with `HANDSHAKE_SSL_ERROR`, so the driver reads
 * the code back from the message.
 */
const TLS_MESSAGES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^self[- ]signed certificate in certificate chain/i, 'SELF_SIGNED_CERT_IN_CHAIN'],
  [/^self[- ]signed certificate$/i, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  [/^unable to verify the first certificate/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/^unable to get local issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  [/^unable to get issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT'],
  [/^certificate has expired/i, 'CERT_HAS_EXPIRED'],
  [/^certificate is not yet valid/i, 'CERT_NOT_YET_VALID'],
  [/^certificate signature failure/i, 'CERT_SIGNATURE_FAILURE'],
  [/^Hostname\/IP does not match certificate's altnames/i, 'ERR_TLS_CERT_ALTNAME_INVALID'],
];

/** The TLS code behind a handshake error's message, when Node's wording is recognized. */
export function tlsCodeOf(message: string): string | undefined {
  for (const [pattern, code] of TLS_MESSAGES) if (pattern.test(message)) return code;
  return undefined;
}

/** The sentence of a `ConnectError` for a TLS failure: what went wrong and which option to change. `code` is the driver's. */
export function tlsAdvice(problem: TlsProblem, code: string | undefined): string {
  const why = ` (${code ?? 'HANDSHAKE_SSL_ERROR'})`;
  switch (problem) {
    case 'server-requires-tls':
      return 'the server accepts only TLS connections (ER_SECURE_TRANSPORT_REQUIRED); set `connection.ssl` (on RDS `{ ca }` with the RDS CA bundle)';
    case 'no-server-tls':
      return `\`connection.ssl\` is set but the server offers no TLS${why}; the connector never falls back to a clear connection: enable TLS on the server (ssl_cert, ssl_key) or remove \`ssl\``;
    case 'host-mismatch':
      return `the server's certificate does not name the host connected to${why}; connect by a name it lists (on RDS the instance or cluster endpoint), or turn the host name check off with \`ssl.verifyIdentity: false\``;
    case 'certificate-dates':
      return `the server's certificate is expired or not yet valid${why}; renew it on the server, or check the clock`;
    case 'untrusted-certificate':
      return `the server's certificate is not signed by a CA in \`ssl.ca\`${why}; give the CA that signed it (on RDS the bundle from https://truststore.pki.rds.amazonaws.com)`;
    case 'handshake':
      return `the TLS handshake failed${why}; check \`connection.ssl\` (ca, cert, key, minVersion) against the server's TLS settings`;
  }
}
