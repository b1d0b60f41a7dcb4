# blobfs: the read-only FUSE filesystem over one Azure Blob container (issue 2).
