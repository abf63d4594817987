{
  # sensor_pcap: capture + batching over libpcap (decoding happens in TypeScript).
  # Plain C on node_api.h; needs libpcap-dev and zlib1g-dev.
  "targets": [
    {
      "target_name": "sensor_pcap",
      "sources": ["src/addon.c", "src/source.c", "src/live.c", "src/readahead.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "_FILE_OFFSET_BITS=64"],
      # node's common.gypi adds -O3 for Release; "cflags!" removes it so ours is the only level.
      "cflags!": ["-O3"],
      "cflags": ["-std=gnu11", "-O2", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpcap", "-lz", "-lpthread"]
    },
    {
      # sensor_sqlite_rows: a SQLite extension the SQLite writer loads (src/sinks/sqlite-worker.ts) to insert a
      # batch's feature rows from one BLOB. Built against better-sqlite3's own SQLite headers (the SQLite it loads
      # into); no library to link: SQLite passes its API table at load time.
      "target_name": "sensor_sqlite_rows",
      "type": "loadable_module",
      "product_extension": "node",
      "sources": ["src/sqlite-rows.c"],
      "include_dirs": ["<!(node -p \"require('path').join(require('path').dirname(require.resolve('better-sqlite3/package.json')), 'deps', 'sqlite3')\")"],
      "cflags!": ["-O3"],
      "cflags": ["-std=gnu11", "-O2", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
