package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// An image's footprint: its file, each layer directory once with the
// other images that use the same one, and the VMs' ext4.
func TestImageDisk(t *testing.T) {
	dir := t.TempDir()
	base, redisLayer, nginxLayer := filepath.Join(dir, "base"), filepath.Join(dir, "redis"), filepath.Join(dir, "nginx")
	for _, d := range []string{base, redisLayer, nginxLayer} {
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "f"), make([]byte, 64<<10), 0o644)
	}
	tarball, ext4 := filepath.Join(dir, "redis.tar"), filepath.Join(dir, "redis.ext4")
	os.WriteFile(tarball, make([]byte, 128<<10), 0o644)
	os.WriteFile(ext4, make([]byte, 256<<10), 0o644)
	redis := &OCIImage{Name: "redis.tar", Tarball: tarball, Ext4: ext4, Layers: []string{base, redisLayer}}
	nginx := &OCIImage{Name: "nginx.tar", Layers: []string{base, nginxLayer}}
	d := imageDisk(redis, []*OCIImage{redis, nginx})
	if d.TarballBytes < 128<<10 || d.Ext4Bytes < 256<<10 || len(d.Layers) != 2 || d.LayerBytes() < 128<<10 {
		t.Fatalf("disk %+v", d)
	}
	if l := d.Layers[0]; l.ID != "base" || len(l.SharedWith) != 1 || l.SharedWith[0] != "nginx.tar" {
		t.Errorf("base layer %+v", l)
	}
	if l := d.Layers[1]; l.ID != "redis" || len(l.SharedWith) != 0 {
		t.Errorf("redis layer %+v", l)
	}
	if d := imageDisk(nginx, []*OCIImage{redis, nginx}); d.TarballBytes != 0 || d.Ext4Bytes != 0 {
		t.Errorf("an image without file or ext4: %+v", d)
	}
}
