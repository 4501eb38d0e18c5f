// The sign-in form, shown when the device has no session. The first login needs the
// network (store.js: login); onLogin opens the store and goes on to the app.
import { login } from './store.js';
import { $, esc, view } from './shared.js';

export function renderLogin(onLogin, message = '') {
  view().innerHTML = `<form class="login" id="loginform" autocomplete="on">
    <h1>网格员登录 <small>Grid worker login</small></h1>
    <p class="muted">首次登录需联网；之后无网络也可使用。First login needs a network; afterwards the app works offline.</p>
    ${message ? `<div class="form-error" role="alert">${esc(message)}</div>` : ''}
    <label for="username">用户名 <small>Username</small></label>
    <input id="username" name="username" autocapitalize="none" autocomplete="username" required>
    <label for="password">密码 <small>Password</small></label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <p><button type="submit" id="loginbtn">登录 Log in</button></p>
  </form>`;
  $('#loginform').onsubmit = async (e) => {
    e.preventDefault();
    $('#loginbtn').disabled = true;
    try {
      const session = await login($('#username').value, $('#password').value);
      await onLogin(session);
    } catch (err) {
      renderLogin(onLogin, err.message);
    }
  };
}
