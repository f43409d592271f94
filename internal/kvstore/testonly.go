package kvstore

// TestOnlyTamper rewrites the sealed bytes of one entry in place, bypassing
// encryption, so tests can check that damage is detected. f receives the
// on-disk value and returns the new one. Never used outside tests.
func (d *DB) TestOnlyTamper(b *Bucket, k []byte, f func(sealed []byte) []byte) error {
	dk := b.dbKey(k)
	v, err := d.ldb.Get(dk, nil)
	if err != nil {
		return mapErr(err)
	}
	return d.ldb.Put(dk, f(v), nil)
}

// TestOnlyUnsynced reports whether writes made without sync are not yet
// synced. Never used outside tests.
func (d *DB) TestOnlyUnsynced() bool { return d.dirty.Load() }
