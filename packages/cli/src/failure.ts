/** A command that was refused or failed: its message goes to stderr, and the exit code is 1. */
export class Failure extends Error {
  /** The exit code. */
  readonly exitCode: number;

  /**
   * @param message - what went wrong, for people; never a payload or a bound value
   * @param exitCode - the exit code @defaultValue 1
   */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'Failure';
    this.exitCode = exitCode;
  }
}

/** Bad arguments: exit code 2, as commander's own usage errors. */
export class UsageError extends Failure {
  /** @param message - what is wrong with the arguments */
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}
