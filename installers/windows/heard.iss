; Heard for Windows: a per-user installer around the PyInstaller one-folder build.
;
;   iscc /DAppVersion=0.1.0 /DNumericVersion=0.1.0 /DSourceDir=C:\...\build\windows\dist\heard ^
;        /DIconFile=C:\...\build\windows\icons\heard.ico /DOutputDir=C:\...\build\windows ^
;        installers\windows\heard.iss
;
; (installers\windows\build.ps1 does all of it.) No administrator rights: Heard goes to
; %LOCALAPPDATA%\Programs\Heard, the Start-menu entry to the user's own menu, and "Start Heard
; when I log in" (ticked by default) is a value under HKCU\...\CurrentVersion\Run, removed on
; uninstall. The user's profile (%LOCALAPPDATA%\heard) and keyring entries stay on uninstall.
; Not compiled on the project's Linux CI machine; the release workflow compiles it.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
; Windows' version resources take numbers only (0.1.0rc1 -> 0.1.0).
#ifndef NumericVersion
  #define NumericVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\windows\dist\heard"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\windows\icons\heard.ico"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\build\windows"
#endif

[Setup]
; Never change AppId: it is how an upgrade finds the installed Heard.
AppId={{6F0D3B57-2E8A-4C1F-9B7D-3A2E5C8F1D40}
AppName=Heard
AppVersion={#AppVersion}
AppVerName=Heard {#AppVersion}
AppPublisher=The Heard developers
VersionInfoVersion={#NumericVersion}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=
DefaultDirName={autopf}\Heard
DisableDirPage=auto
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=heard-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\heard.exe
UninstallDisplayName=Heard
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running Heard holds its files: ask it to close (Restart Manager) before replacing them.
CloseApplications=yes
RestartApplications=no

[Tasks]
Name: "startatlogin"; Description: "Start Heard when I log in"; GroupDescription: "Start:"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the whole bundle: files an older version had must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\Heard"; Filename: "{app}\heard.exe"; Comment: "Keep your promise of responsiveness to clients"
Name: "{autodesktop}\Heard"; Filename: "{app}\heard.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "Heard"; ValueData: """{app}\heard.exe"""; Flags: uninsdeletevalue; Tasks: startatlogin

[Run]
Filename: "{app}\heard.exe"; Description: "{cm:LaunchProgram,Heard}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; Heard lives in the tray: stop it so its files can be removed.
Filename: "{sys}\taskkill.exe"; Parameters: "/IM heard.exe /F"; Flags: runhidden; RunOnceId: "StopHeard"

[UninstallDelete]
Type: filesandordirs; Name: "{app}\_internal"
