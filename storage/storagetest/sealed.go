package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"remoteidv/models"
	"remoteidv/storage/encfile"
	"remoteidv/storage/sqldb"
)

// RunSealedDescriptors checks face descriptors encrypted in the database
// (db is fresh and migrated, without a key): one stored before the key
// stays readable; one stored after is not in the row in the clear and
// reads back whole; a sealed value moved to another row, or read with
// another key, is an error rather than a wrong descriptor.
func RunSealedDescriptors(t *testing.T, db *sqldb.DB) {
	ctx := context.Background()
	hash := fmt.Sprintf("%064x", 7)
	desc := func(seed float32) []byte {
		b := make([]byte, 512)
		for i := range 128 {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(seed+float32(i)/1000))
		}
		return b
	}
	a := account("6222000033334444")
	var imgs [2]*models.AccountImage
	tx(t, db, func(tx models.Tx) error {
		if err := tx.UpsertAccount(ctx, a); err != nil {
			return err
		}
		for i := range imgs {
			imgs[i] = &models.AccountImage{AccountNo: a.No, Kind: models.ImagePhoto, ContentType: "image/jpeg", SHA256: fmt.Sprintf("%064x", 100+i), Data: []byte{byte(i)}, CreatedAt: t0}
			if err := tx.AddAccountImage(ctx, imgs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	legacy, sealed := desc(0.25), desc(-0.5)
	tx(t, db, func(tx models.Tx) error {
		return tx.PutFaceReference(ctx, &models.FaceReference{ImageID: imgs[0].ID, ModelHash: hash, Descriptor: legacy, CreatedAt: t0})
	})
	key := func(b byte) *encfile.Key {
		k, err := encfile.NewKey(bytes.Repeat([]byte{b}, encfile.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	db.SealDescriptors(key(1), rand.Reader)
	tx(t, db, func(tx models.Tx) error {
		return tx.PutFaceReference(ctx, &models.FaceReference{ImageID: imgs[1].ID, ModelHash: hash, Descriptor: sealed, CreatedAt: t0})
	})
	raw := func(id int64) []byte {
		var b []byte
		if err := db.SQL().QueryRowContext(ctx, fmt.Sprintf("SELECT descriptor FROM face_references WHERE image_id = %d", id)).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := raw(imgs[1].ID); len(b) != 512+encfile.BlobOverhead || bytes.Contains(b, sealed[:32]) {
		t.Errorf("stored descriptor = %d bytes, plaintext visible %v; want %d sealed bytes", len(b), bytes.Contains(b, sealed[:32]), 512+encfile.BlobOverhead)
	}
	if b := raw(imgs[0].ID); !bytes.Equal(b, legacy) {
		t.Errorf("the descriptor stored before the key changed in the row")
	}
	var refs []*models.FaceReference
	tx(t, db, func(tx models.Tx) (err error) { refs, err = tx.FaceReferences(ctx, a.No, hash); return })
	if len(refs) != 2 || !bytes.Equal(refs[0].Descriptor, legacy) || !bytes.Equal(refs[1].Descriptor, sealed) {
		t.Errorf("FaceReferences = %d refs, want the legacy and the sealed descriptor back", len(refs))
	}
	tx(t, db, func(tx models.Tx) (err error) { refs, err = tx.AllFaceReferences(ctx, hash); return })
	if len(refs) != 2 || !bytes.Equal(refs[1].Descriptor, sealed) {
		t.Errorf("AllFaceReferences = %d refs, want both, decrypted", len(refs))
	}

	db.SealDescriptors(key(2), rand.Reader)
	err := db.Transact(ctx, func(tx models.Tx) error { _, err := tx.FaceReferences(ctx, a.No, hash); return err })
	wantCode(t, "FaceReferences(another key)", err, models.EPRECONDITION)

	db.SealDescriptors(key(1), rand.Reader)
	if _, err := db.SQL().ExecContext(ctx, fmt.Sprintf("UPDATE face_references SET descriptor = (SELECT descriptor FROM face_references WHERE image_id = %d) WHERE image_id = %d", imgs[1].ID, imgs[0].ID)); err != nil {
		t.Fatal(err)
	}
	err = db.Transact(ctx, func(tx models.Tx) error { _, err := tx.FaceReferences(ctx, a.No, hash); return err })
	wantCode(t, "FaceReferences(a sealed descriptor moved to another photo)", err, models.ECONFLICT)
}
