#!/usr/bin/env node
// s3rver, the S3-protocol server glint's S3 client is tested against, behind a check of
// AWS Signature V4.
//
// s3rver 3.7.1 checks that a V4 Authorization header is well formed and names a known
// access key, but does not recompute the signature ("Signature version 4 calculation is
// unimplemented"), so a client with a wrong secret or a wrongly signed request would pass.
// This front recomputes each header-signed request's signature with the aws4 library over
// exactly the headers the request says it signed, and answers 403 SignatureDoesNotMatch
// (as S3 does) when it differs; everything else is s3rver's own handling.
//
// Not checked here (s3rver does not either): that the body matches x-amz-content-sha256 or
// Content-MD5. glint's client compares the ETag s3rver computes over the received bytes.
//
// usage: node serve.js --address 127.0.0.1 --port 0 --directory DIR [--bucket NAME]
//                      [--service-endpoint HOST]
// Prints "s3rver listening on ADDRESS:PORT" once it accepts connections.
'use strict';

const http = require('http');
const aws4 = require('aws4');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

function parseArgs(argv) {
  const opts = { address: '127.0.0.1', port: 0, directory: '', buckets: [], endpoint: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--address') opts.address = value;
    else if (name === '--port') opts.port = Number(value);
    else if (name === '--directory') opts.directory = value;
    else if (name === '--bucket') opts.buckets.push(value);
    else if (name === '--service-endpoint') opts.endpoint = value;
    else throw new Error(`unknown option ${name}`);
  }
  if (!opts.directory) throw new Error('--directory is required');
  return opts;
}

// Why the request's V4 header signature is wrong, or null when it is right or not a V4
// header signature at all (s3rver then answers as it would).
function signatureMismatch(req) {
  const auth = req.headers['authorization'] || '';
  if (!auth.startsWith('AWS4-HMAC-SHA256 ')) return null;
  const m = /Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)/.exec(auth);
  if (!m) return null;  // malformed: s3rver says so
  const [accessKeyId, , region, service] = m[1].split('/');
  const account = AWSAccount.registry.get(accessKeyId);
  if (!account) return null;  // s3rver answers InvalidAccessKeyId
  const signed = m[2].split(';');
  const headers = {};
  const include = {};
  for (const name of signed) {
    if (req.headers[name] === undefined) return `signed header ${name} is missing`;
    headers[name] = req.headers[name];
    include[name] = true;
  }
  const request = {
    method: req.method,
    path: req.url,
    host: req.headers['host'],
    service,
    region,
    headers,
    extraHeadersToInclude: include,
  };
  aws4.sign(request, { accessKeyId, secretAccessKey: account.accessKeys.get(accessKeyId) });
  const expected = /Signature=([0-9a-f]+)/.exec(request.headers['Authorization'])[1];
  return expected === m[3] ? null : 'the signature does not match';
}

function reject(res, why) {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>' +
    '<Message>The request signature we calculated does not match the signature you ' +
    `provided (${why}).</Message></Error>`;
  res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const s3rver = new S3rver({
    directory: opts.directory,
    silent: true,
    configureBuckets: opts.buckets.map(name => ({ name })),
    ...(opts.endpoint ? { serviceEndpoint: opts.endpoint } : {}),
  });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  const server = http.createServer((req, res) => {
    const why = signatureMismatch(req);
    if (why) {
      req.resume();  // drain the upload so the answer is read, then close
      res.setHeader('Connection', 'close');
      return reject(res, why);
    }
    handle(req, res);
  });
  server.listen(opts.port, opts.address, () => {
    const { address, port } = server.address();
    console.log(`s3rver listening on ${address}:${port}`);
  });
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
