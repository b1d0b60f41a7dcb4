# transform: ImageKit-style transformation strings on libvips (issue 3).
