// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"io"
	"os"
	"time"
)

// archiveFile is one file to pack: its name in the archive (under the
// archive's directory), where it is, and its mode.
type archiveFile struct {
	name, path string
	mode       int64
}

// writeTarGz packs files under dir/ with fixed owner and time, so the
// same inputs give the same bytes.
func writeTarGz(path, dir string, files []archiveFile, mtime time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	for _, af := range files {
		fi, err := os.Stat(af.path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: dir + "/" + af.name, Mode: af.mode, Size: fi.Size(), ModTime: mtime,
			Typeflag: tar.TypeReg, Uname: "root", Gname: "root", Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := copyFile(tw, af.path); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

// writeZip is writeTarGz's Windows twin.
func writeZip(path, dir string, files []archiveFile, mtime time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, af := range files {
		hdr := &zip.FileHeader{Name: dir + "/" + af.name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(os.FileMode(af.mode))
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if err := copyFile(w, af.path); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func copyFile(w io.Writer, path string) error {
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(w, r)
	return err
}
