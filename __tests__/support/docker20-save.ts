// What `docker save` of a four-layer image wrote on Docker 20.10.24 (the sandbox runner): the
// image's diff IDs, bottom first, and each legacy <v1 id>/json entry as it came, in archive
// order. Real output, so that the v1 ID recipe in legacy-ids.ts is checked against Docker's own.

export const DOCKER20_DIFF_IDS = [
  'sha256:11729e1452d28fe25c096ecea80578434eea30bebe49490dd1f6aeb238ade260',
  'sha256:95389f30700a46fc7c7a40a7abbe8f815acc101cd10d9aad304d051b8ace0379',
  'sha256:46c7dceebc3d80a2946db9b59a041402badd9e8dcdc586747931d1af90d1a5e5',
  'sha256:7e6c598d36dcebdf9dd6351df55f801b24fdfbd41bd2405d90ef69e3cfdad5bd',
]

/** [v1 id, its json, the index of the layer it holds] */
export const DOCKER20_LEGACY_JSON: [string, string, number][] = [
  [
    '1f6251d24a83fab5b07985d9a3f1362aff6aded3626bf6ae72083b4edaab3b4a',
    "{\"id\":\"1f6251d24a83fab5b07985d9a3f1362aff6aded3626bf6ae72083b4edaab3b4a\",\"parent\":\"e48c6a7aef8f7139fcca19b3a51e1111f04cf6539484d16800c6855719c1b919\",\"created\":\"1970-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"os\":\"linux\"}",
    1
  ],
  [
    '25594ab8a5a1704749d3450d3325ba05553f24c271abe59866b313409418cee9',
    "{\"id\":\"25594ab8a5a1704749d3450d3325ba05553f24c271abe59866b313409418cee9\",\"parent\":\"1f6251d24a83fab5b07985d9a3f1362aff6aded3626bf6ae72083b4edaab3b4a\",\"created\":\"1970-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"os\":\"linux\"}",
    2
  ],
  [
    '79a99bc5e6753137f68431aa68df72c65d7671b9d6a851c260c46c4e56bc2c49',
    "{\"id\":\"79a99bc5e6753137f68431aa68df72c65d7671b9d6a851c260c46c4e56bc2c49\",\"parent\":\"25594ab8a5a1704749d3450d3325ba05553f24c271abe59866b313409418cee9\",\"created\":\"2026-11-22T05:40:34.842521319Z\",\"container\":\"981704b3303e6867cac4b53c7e966e0d3856a200688df4b68af4d6b27b0c9727\",\"container_config\":{\"Hostname\":\"981704b3303e\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"ExposedPorts\":{\"8080/tcp\":{}},\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"PORT=8080\",\"APP_VERSION=bench-1\"],\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) \",\"CMD [\\\"/app/start.sh\\\"]\"],\"Image\":\"sha256:57831cf861233e765b25bbed6496814dbfd335d64e0e48141e2351ce7dcbf640\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{}},\"docker_version\":\"20.10.24+dfsg1\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"ExposedPorts\":{\"8080/tcp\":{}},\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"PORT=8080\",\"APP_VERSION=bench-1\"],\"Cmd\":[\"/app/start.sh\"],\"Image\":\"sha256:57831cf861233e765b25bbed6496814dbfd335d64e0e48141e2351ce7dcbf640\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"architecture\":\"amd64\",\"os\":\"linux\"}",
    3
  ],
  [
    'e48c6a7aef8f7139fcca19b3a51e1111f04cf6539484d16800c6855719c1b919',
    "{\"id\":\"e48c6a7aef8f7139fcca19b3a51e1111f04cf6539484d16800c6855719c1b919\",\"created\":\"1970-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"os\":\"linux\"}",
    0
  ],
]
