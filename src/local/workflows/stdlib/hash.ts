import { createHash, createHmac } from 'node:crypto';
import { raiseError } from '../errors';
import { WfBytes } from '../values';
import { needBytes, needString } from './arguments';
import { defineFunctions } from './registry';

/**
 * hash.compute_checksum and hash.compute_hmac with node:crypto
 * (https://cloud.google.com/workflows/docs/reference/stdlib/hash/compute_checksum, .../hash/compute_hmac).
 * The algorithm names are the documented ones, spelled as documented.
 */
const ALGORITHMS: Record<string, string> = {
  MD5: 'md5',
  SHA1: 'sha1',
  SHA224: 'sha224',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
};

function algorithm(v: Parameters<typeof needString>[0], fn: string): string {
  const name = needString(v, fn, 'algorithm');
  const node = ALGORITHMS[name];
  if (!node)
    raiseError(
      'ValueError',
      `${fn}: unsupported algorithm '${name}'; use one of ${Object.keys(ALGORITHMS).join(', ')}`,
    );
  return node;
}

export const hashFunctions = defineFunctions({
  'hash.compute_checksum': [
    ['data', 'algorithm'],
    2,
    ([d, a]) => {
      const data = needBytes(d, 'hash.compute_checksum', 'data');
      return new WfBytes(createHash(algorithm(a, 'hash.compute_checksum')).update(data).digest());
    },
  ],
  'hash.compute_hmac': [
    ['key', 'data', 'algorithm'],
    3,
    ([k, d, a]) => {
      const key = needBytes(k, 'hash.compute_hmac', 'key');
      const data = needBytes(d, 'hash.compute_hmac', 'data');
      return new WfBytes(createHmac(algorithm(a, 'hash.compute_hmac'), key).update(data).digest());
    },
  ],
});
