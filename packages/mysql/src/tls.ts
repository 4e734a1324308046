/**
 * What a failed TLS connect means, for a person: the classification itself is in `ERROR_TABLE`
 * (class `tls`: fatal for the connect, never retried, never answered by connecting in clear); this
 * module names the problem and the option that governs it.
 */

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

/** Node's codes for a certificate not signed by a trusted CA. */
export const TLS_CHAIN_CODES = [
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
] as const;
/** Node's codes for a certificate outside its validity dates. */
export const TLS_DATE_CODES = ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'] as const;
const CHAIN: ReadonlySet<string> = new Set(TLS_CHAIN_CODES);
const DATES: ReadonlySet<string> = new Set(TLS_DATE_CODES);

/** MySQL's ER_SECURE_TRANSPORT_REQUIRED: the server refuses connections without TLS. */
export const ER_SECURE_TRANSPORT_REQUIRED = 3159;

/** The sentence of a `ConnectError` for a TLS failure: what went wrong and which option to change. */
export function tlsAdvice(code: string | undefined, errno: number | undefined): string {
  if (errno === ER_SECURE_TRANSPORT_REQUIRED) {
    return 'the server accepts only TLS connections (ER_SECURE_TRANSPORT_REQUIRED); set `connection.ssl` (on RDS `{ ca }` with the RDS CA bundle)';
  }
  const why = ` (${code ?? 'HANDSHAKE_SSL_ERROR'})`;
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return `\`connection.ssl\` is set but the server offers no TLS${why}; the connector never falls back to a clear connection: enable TLS on the server (ssl_cert, ssl_key) or remove \`ssl\``;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the server's certificate does not name the host connected to${why}; connect by a name it lists (on RDS the instance or cluster endpoint), or turn the host name check off with \`ssl.verifyIdentity: false\``;
  }
  if (code !== undefined && DATES.has(code)) return `the server's certificate is expired or not yet valid${why}; renew it on the server, or check the clock`;
  if (code !== undefined && CHAIN.has(code)) {
    return `the server's certificate is not signed by a CA in \`ssl.ca\`${why}; give the CA that signed it (on RDS the bundle from https://truststore.pki.rds.amazonaws.com)`;
  }
  return `the TLS handshake failed${why}; check \`connection.ssl\` (ca, cert, key, minVersion) against the server's TLS settings`;
}
