// Runs s3rver (the 20minutes fork, which verifies SigV4 signatures) for Lite's tests.
// usage: node serve.js <directory> <port> [accessKeyId secretAccessKey]
// Prints "listening <port>" once it accepts connections. The package ships no command of its own.
'use strict';
const S3rver = require('@20minutes/s3rver');
const { DUMMY_ACCOUNT } = require('@20minutes/s3rver/lib/models/account');

const [directory, port, accessKeyId, secretAccessKey] = process.argv.slice(2);
if (accessKeyId) {
  DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
}
new S3rver({ address: '127.0.0.1', port: Number(port), directory, silent: true })
  .run()
  .then((address) => console.log(`listening ${address.port}`))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
