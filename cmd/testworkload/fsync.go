package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"time"
)

// recordSize is one record of the fsync log.
const recordSize = 512

func record(n uint64) []byte {
	b := make([]byte, recordSize)
	binary.LittleEndian.PutUint64(b, n)
	for i := 8; i < len(b); i++ {
		b[i] = byte(n*7 + uint64(i))
	}
	return b
}

// fsyncLoop appends numbered records to /mnt/log forever, each written
// and fsynced before it prints "ACKED n": a disk writer whose
// acknowledged writes a snapshot and restore must not lose.
func fsyncLoop(arg string) error {
	ms, err := strconv.Atoi(arg)
	if err != nil || ms < 0 {
		return fmt.Errorf("fsyncloop %q: want milliseconds", arg)
	}
	f, err := os.OpenFile("/mnt/log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	for n := uint64(st.Size()/recordSize) + 1; ; n++ {
		if _, err := f.Write(record(n)); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		fmt.Printf("ACKED %d\n", n)
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}

// fsyncCheck counts the intact records at the start of /mnt/log and
// prints "RECORDS n".
func fsyncCheck(string) error {
	b, err := os.ReadFile("/mnt/log")
	if err != nil {
		return err
	}
	n := uint64(0)
	for ; int(n+1)*recordSize <= len(b); n++ {
		want := record(n + 1)
		got := b[int(n)*recordSize:][:recordSize]
		if string(got) != string(want) {
			break
		}
	}
	fmt.Printf("RECORDS %d\n", n)
	return nil
}
