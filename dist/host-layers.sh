# shellcheck shell=bash
# Every image on the host, its layer chains and the image store (list_layers, $1 the format).
# The survey lists them too when a deploy may send an image (survey.sh); this is for the others.
# Included before this: lib-docker.sh lib-host-layers.sh.
list_layers "$1" || exit 1
