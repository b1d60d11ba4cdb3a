/** A minimal error boundary for the provider's failure test. */
import { Component, type ReactNode } from 'react';

export class ErrorBoundary extends Component<{ onError: (e: unknown) => void; children?: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }
  override componentDidCatch(error: unknown): void {
    this.props.onError(error);
  }
  override render(): ReactNode {
    return this.state.failed ? 'failed' : this.props.children;
  }
}
