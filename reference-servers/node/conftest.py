"""Keep pytest out of the Node build folders (`node_modules/`, `dist/`)."""

collect_ignore_glob = ["node_modules/*", "dist/*", "test/*"]
