import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { dataDir } from '../../src/data/cache.js';

describe('the data folder', () => {
  it('is mamba-ts/data in the user cache: $XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(dataDir({}), join(homedir(), '.cache', 'mamba-ts', 'data'));
    assert.equal(dataDir({ XDG_CACHE_HOME: '/var/cache/me' }), '/var/cache/me/mamba-ts/data');
    // The XDG rules ignore a relative path, and an empty one.
    assert.equal(dataDir({ XDG_CACHE_HOME: 'cache' }), join(homedir(), '.cache', 'mamba-ts', 'data'));
    assert.equal(dataDir({ XDG_CACHE_HOME: '' }), join(homedir(), '.cache', 'mamba-ts', 'data'));
  });

  it('is $MAMBA_TS_DATA_DIR when set, over $XDG_CACHE_HOME, resolved against the working directory', () => {
    assert.equal(dataDir({ MAMBA_TS_DATA_DIR: '/data/mt', XDG_CACHE_HOME: '/var/cache/me' }), '/data/mt');
    assert.equal(dataDir({ MAMBA_TS_DATA_DIR: 'here/data' }), resolve('here/data'));
    assert.equal(dataDir({ MAMBA_TS_DATA_DIR: '', XDG_CACHE_HOME: '/c' }), '/c/mamba-ts/data');
  });
});
