package testenv

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestMinIODrives: a four-drive server spreads an object over every drive;
// with one drive removed it still writes and reads, the new object is on
// the three drives left, and the drive comes back.
func TestMinIODrives(t *testing.T) {
	m := MinIO(t, WithDrives(4), WithoutKMS())
	ctx := context.Background()
	c, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	put := func(key string) {
		t.Helper()
		data := bytes.Repeat([]byte(key), 1<<14)
		if _, err := c.PutObject(ctx, "bkt", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject(%s) = %v", key, err)
		}
		o, err := c.GetObject(ctx, "bkt", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetObject(%s) = %d bytes, %v; want what was put", key, len(got), err)
		}
	}
	onDrive := func(i int, key string) bool {
		_, err := os.Stat(filepath.Join(m.Drives[i], "bkt", key, "xl.meta"))
		return err == nil
	}
	put("before")
	for i := range m.Drives {
		if !onDrive(i, "before") {
			t.Errorf("object before the removal is not on drive %d", i+1)
		}
	}
	m.RemoveDrive(0)
	put("during")
	if _, err := os.Stat(filepath.Join(m.Drives[0]+".removed", "bkt", "during")); err == nil {
		t.Error("the object written with drive 1 removed is on drive 1")
	}
	for i := 1; i < len(m.Drives); i++ {
		if !onDrive(i, "during") {
			t.Errorf("object written with drive 1 removed is not on drive %d", i+1)
		}
	}
	if ok, err := healthy(http1(), m.URL()+"/minio/health/cluster"); !ok {
		t.Errorf("cluster health with one drive of four removed = %v, want 200", err)
	}
	m.RestoreDrive(0)
	put("after")
}

func http1() *http.Client { return &http.Client{Timeout: 5 * time.Second} }
