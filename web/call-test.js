// The call test page (/web/call-test.html): one participant's call, by link.
import { connect } from '/web/call.js';
const q = new URLSearchParams(location.search);
const state = document.getElementById('state');
try {
  state.textContent = 'connecting';
  const call = await connect({ session: q.get('session'), token: q.get('token'), relay: q.get('relay') === '1' });
  window.call = call;
  document.getElementById('local').srcObject = call.localStream;
  document.getElementById('remote').srcObject = call.remoteStream;
  call.pc.addEventListener('connectionstatechange', () => (state.textContent = call.pc.connectionState));
  state.textContent = call.pc.connectionState;
  for (const [id, set] of [['mic', (on) => call.setMic(on)], ['cam', (on) => call.setCamera(on)]]) {
    const b = document.getElementById(id);
    b.onclick = () => {
      const on = b.getAttribute('aria-pressed') !== 'true';
      b.setAttribute('aria-pressed', String(on));
      set(on);
    };
  }
  document.getElementById('hangup').onclick = () => call.hangup().then(() => (state.textContent = 'ended'));
  setInterval(async () => {
    document.getElementById('stats').textContent = JSON.stringify(await call.stats(), null, 1);
  }, 1000);
} catch (e) {
  state.textContent = `failed: ${e.message}`;
}
