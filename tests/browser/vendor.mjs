// Standard WHIP/WHEP clients that are not Switchboard's, bundled for the
// browser by esbuild (run.sh) into build/vendor.js.
export { WHIPClient } from '@eyevinn/whip-web-client';
export { WebRTCPlayer } from '@eyevinn/webrtc-player';
