import ArgumentParser

/// `tally completion bash|zsh|fish`: prints the shell completion script the argument parser
/// derives from the commands, so packages and users install it without knowing the hidden flag.
struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print a shell completion script.",
        discussion: """
            bash:  tally completion bash > /etc/bash_completion.d/tally   (or source it from ~/.bashrc)
            zsh:   tally completion zsh > "${fpath[1]}/_tally"
            fish:  tally completion fish > ~/.config/fish/completions/tally.fish
            The Debian package installs all three.
            """)

    @Argument(help: "The shell: bash, zsh or fish.")
    var shell: Shell

    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish
        var completionShell: CompletionShell {
            switch self {
            case .bash: .bash
            case .zsh: .zsh
            case .fish: .fish
            }
        }
    }

    func run() {
        print(Tally.completionScript(for: shell.completionShell), terminator: "")
    }
}
