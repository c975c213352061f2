/**
 * The audiences that name this server itself (RFC 8707): its resource identifiers, known once the HTTP listener is
 * bound. A token whose `aud` names another resource is refused; until the listener is bound none is accepted this way.
 */
export class ResourceAudience {
  private names: readonly string[] = [];

  bind(names: readonly string[]): void {
    this.names = [...names];
  }

  get identifiers(): readonly string[] {
    return this.names;
  }
}
