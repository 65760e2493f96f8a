namespace PipeBalancer.Configuration;

/// <summary>Listeners: names, unique names and addresses, not the admin app's address, and TLS files that exist.</summary>
internal static class ListenerValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var listeners = draft.Config.Listeners;
        var admin = draft.Config.Admin.Address;
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var addresses = new Dictionary<(string, int), string>();
        for (int i = 0; i < listeners.Count; i++)
        {
            var listener = listeners[i];
            string path = draft.PathOf("listeners", i);
            if (EntryRules.CheckName(listener.Name, path + ".name", issues))
            {
                EntryRules.CheckUnique(names, listener.Name, path, "name", listener.Name, issues);
            }

            // Port 0 asks the system for a free port: several such listeners do not collide.
            if (listener.Address is { Port: not 0 } address)
            {
                EntryRules.CheckUnique(addresses, EntryRules.Normalize(address), path, "address", address.Text, issues);
                if (admin is not null && EntryRules.Normalize(address) == EntryRules.Normalize(admin))
                {
                    issues.Error(path + ".address", $"'{address}' is also the admin address; the admin app needs its own");
                }
            }

            if (listener.Tls is { } tls)
            {
                CheckFile(tls.Certificate, path + ".tls.certificate", issues);
                CheckFile(tls.Key, path + ".tls.key", issues);
            }
        }
    }

    // Whether the files hold a matching certificate and key is judged when the listener starts.
    private static void CheckFile(string? file, string path, ConfigIssues issues)
    {
        if (file is not null && !File.Exists(file))
        {
            issues.Error(path, $"no such file: {file} (a PEM file; a relative path is read from the working directory)");
        }
    }
}
