; Inno Setup script for the Windows installer of HistoClass (Inno Setup 6.3 or newer).
;
; On a Windows build machine, from the repository root:
;   make dist                                   (or the commands under README "Installer")
;   iscc /DAppVersion=0.1.0 packaging\windows\histoclass.iss
; gives dist\HistoClass-0.1.0-setup.exe: a per-machine (or, if the user chooses, per-user)
; installer that needs no network. It installs the PyInstaller folder dist\histoclass,
; a Start menu entry, an optional desktop icon, and an uninstaller.
; Paths below are relative to this file's folder.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "HistoClass"
#define AppExe "histoclass.exe"
#define BundleDir "..\..\dist\histoclass"

[Setup]
; Keep this AppId for every release: Windows uses it to upgrade and uninstall.
AppId={{6C1D3A52-8F0B-4C7E-9A51-2E7B4D3F9C18}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=HistoClass developers
AppComments=For research use only. Not for clinical diagnosis.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile=histoclass.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "For research use only. Not for clinical diagnosis."
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
