package results

// Footprint is what each target needs on disk, and what N containers of
// one large image cost on disk (the "1,000 containers from a 1 GB image"
// claim), measured with crun over one shared read-only root.
type Footprint struct {
	Files      []FootprintFile  `json:"files"`
	LargeImage *LargeImageRun   `json:"large_image,omitempty"`
	Docker     *DockerFootprint `json:"docker,omitempty"`
}

// FootprintFile is one target's on-disk need.
type FootprintFile struct {
	Target string `json:"target"`
	What   string `json:"what"`
	Bytes  int64  `json:"bytes"`
}

// LargeImageRun is N idle containers started from one large root.
type LargeImageRun struct {
	Target       string `json:"target"`
	ImageBytes   int64  `json:"image_bytes"`
	N            int    `json:"n"`
	Started      int    `json:"started"`
	BundleBytes  int64  `json:"bundle_bytes"` // every container's own files (bundles) together
	DiskTotal    int64  `json:"disk_total"`   // image + bundles
	MemAvailDrop int64  `json:"mem_available_drop"`
	Error        string `json:"error,omitempty"`
}

// DockerFootprint is docker's side of the footprint: the imported image
// and what N containers of it add in the daemon's data root (each gets
// its own overlay2 upper and init layers; the image's layer is shared).
type DockerFootprint struct {
	ImageBytes     int64  `json:"image_bytes"`
	N              int    `json:"n"`
	Created        int    `json:"created"`
	DataRootGrowth int64  `json:"data_root_growth"`
	Driver         string `json:"storage_driver"`
	Error          string `json:"error,omitempty"`
}
