// One toast at a time with an Undo button; a newer offer replaces an older one.

export function createToast(box, text, undoButton) {
  let timer = null;
  let undo = null;
  const hide = () => {
    clearTimeout(timer);
    box.hidden = true;
    undo = null;
  };
  undoButton.addEventListener('click', () => {
    const action = undo;
    hide();
    void action?.();
  });
  return {
    show(message, onUndo, ms) {
      clearTimeout(timer);
      text.textContent = message;
      undo = onUndo;
      box.hidden = false;
      timer = setTimeout(hide, ms);
    },
  };
}
