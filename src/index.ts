import './cjs-globals.js'
import { NodeSSH } from 'node-ssh'
import * as core from '@actions/core'
import { extract } from 'tar-stream'
core.info(String(typeof NodeSSH) + String(typeof extract))
