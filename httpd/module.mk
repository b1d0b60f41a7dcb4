# blobhttpd: ImageKit-style URLs served from origin folders (issue 4).
